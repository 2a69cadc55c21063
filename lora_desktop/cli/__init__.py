"""The command line: the same services as the window, no GUI (like calibre's ``calibredb``)."""
