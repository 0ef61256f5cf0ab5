"""Secret operations of the Platform (placeholder: being written)."""


class SecretOps:
    pass
