# message: plain.eml
require ["date", "fileinto", "variables"];
if date :zone "-0500" "date" "date" "*" { set "d" "${1}"; }
if date :zone "-0500" "date" "weekday" "1" { fileinto "monday-${d}"; }
