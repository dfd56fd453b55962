"""hvdyn: declarative Hyper-V Dynamic Memory for Windows Server 2008 R2 SP1 fleets."""

__version__ = "0.1.0"
