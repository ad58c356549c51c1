"""An example ragline plugin: one step type, `regex-extract`, published by entry point."""
