"""Rules of the SMS channel: the 1414 grammar, GSM 03.38 text, segments and their UDH, what a reply may show."""
