"""The `ragline` command. Subcommands import their heavy dependencies lazily."""
