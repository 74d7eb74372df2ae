"""KPI formulas and interval rollup math: pure, no I/O."""
