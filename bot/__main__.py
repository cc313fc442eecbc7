"""`python -m bot` runs the segbot command line."""

from bot.cli import main

main()
