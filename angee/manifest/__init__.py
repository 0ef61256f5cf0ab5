"""``angee.yaml``: the model, the strict loader, validation, the canonical emitter and the one writer."""

from angee.manifest.emit import dump_manifest, dump_yaml
from angee.manifest.load import load_manifest, parse_manifest
from angee.manifest.model import Manifest
from angee.manifest.validate import ValidationIssue, validate_manifest

__all__ = [
    "Manifest",
    "ValidationIssue",
    "dump_manifest",
    "dump_yaml",
    "load_manifest",
    "parse_manifest",
    "validate_manifest",
]
