# message: nested.eml
require ["mime", "fileinto"];
if address :mime :anychild :is :all "content-from" "tim@example.com" { fileinto "tim"; }
if address :mime :is :all "content-from" "tim@example.com" { fileinto "top-tim"; }
if address :mime :anychild :domain "from" "example.com" { fileinto "from-domain"; }
