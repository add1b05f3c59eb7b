"""The main job's report: HTML with embedded figures, plus the same figures as PNG files."""

from robo_reward.report.html import Figure, Section, Table, write_report

__all__ = ["Figure", "Section", "Table", "write_report"]
