"""What commands print: text for people, and the machine formats."""
