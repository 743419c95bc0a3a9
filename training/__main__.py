from albumgan.training.cli import main

raise SystemExit(main())
