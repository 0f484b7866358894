# message: plain.eml
require ["encoded-character", "fileinto"];
if header :contains "subject" "${unicode:00E9}" { fileinto "${unicode:263A}"; }
