"""``python -m xianban``: the same CLI as the ``xianban`` script."""

from xianban.cli import main

main()
