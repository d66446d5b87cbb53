"""The report renderer: sections (text, figures, tables, examples) into one self-contained, autoescaped HTML page; the figure style."""
