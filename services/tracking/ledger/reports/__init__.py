"""What the ledger adds up: unit and channel KPIs, the monthly circular and the annual
summary, and the documents (Markdown, HTML, xlsx) they are read in."""
