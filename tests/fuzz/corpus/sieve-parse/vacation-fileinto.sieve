# message: plain.eml
require ["vacation", "fileinto"];
if header :contains "subject" "news" { fileinto "News"; }
vacation :subject "Away" :addresses "me@example.org" "Back Monday.";
