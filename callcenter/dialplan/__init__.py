"""The admin-edited dialplan: YAML in, a typed and validated model out."""
