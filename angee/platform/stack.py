"""Stack operations of the Platform (placeholder: being written)."""


class StackOps:
    pass
