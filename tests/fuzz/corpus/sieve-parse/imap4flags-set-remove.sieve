# message: plain.eml
require ["imap4flags", "fileinto"];
setflag "\\Seen \\Deleted";
addflag "\\Flagged";
removeflag "\\deleted";
if hasflag :is "\\flagged" { fileinto "Flagged"; }
