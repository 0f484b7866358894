# message: plain.eml
require ["imap4flags", "fileinto"];
fileinto :flags ["\\Seen", "\\Answered"] "Read";
