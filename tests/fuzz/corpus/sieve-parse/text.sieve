require ["reject","encoded-character"];
reject text:
sorry ${hex:41}
..dot
.
;
