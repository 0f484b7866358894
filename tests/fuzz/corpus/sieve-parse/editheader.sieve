require ["editheader", "variables"];
if not header :contains "X-Sieve-Filtered" "<kim@job.example.com>" {
  addheader "X-Sieve-Filtered" "<kim@job.example.com>";
  addheader :last "X-Note" "caf\u00e9";
}
deleteheader :index 1 :last :matches "X-Spam-Score" "*";
deleteheader "Received";
