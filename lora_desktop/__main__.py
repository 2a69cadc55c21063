"""``python -m lora_desktop``: same as the ``lora-desktop`` command."""

from lora_desktop.app import main

raise SystemExit(main())
