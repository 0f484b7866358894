# message: plain.eml
require ["imap4flags", "fileinto"];
fileinto :flags "a" "X";
fileinto :flags ["b", "\\Seen"] "X";
