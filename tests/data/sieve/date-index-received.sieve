# message: received.eml
require ["date", "index", "fileinto"];
if date :index 1 :zone "+0000" "received" "date" "2026-12-10" { fileinto "first"; }
if date :index 1 :last :zone "+0000" "received" "time" "01:45:00" { fileinto "last"; }
