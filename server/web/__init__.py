"""Server-rendered pages for union staff."""
