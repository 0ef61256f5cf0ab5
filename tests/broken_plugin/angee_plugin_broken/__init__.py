"""A deliberately broken Angee plugin: importing it fails, as with a missing dependency.

``angee plugins`` must list it with this error and every other command must still work.
"""

raise ImportError("angee_plugin_broken needs the module 'angee_missing_dependency', which is not installed")
