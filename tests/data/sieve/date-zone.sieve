# message: plain.eml
require ["date", "fileinto"];
if date :zone "+0000" "date" "hour" "09" { fileinto "utc9"; }
if date :originalzone "date" "hour" "10" { fileinto "orig10"; }
