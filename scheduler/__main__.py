"""Run the scheduler: `python -m scheduler` (one per deployment)."""

from scheduler.runner import main

if __name__ == "__main__":
    main()
