"""`python -m phqwatch.cli`."""

from phqwatch.cli import main

main()
