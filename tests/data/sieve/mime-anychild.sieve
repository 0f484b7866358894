# message: nested.eml
require ["mime", "fileinto"];
if header :mime :type "Content-Type" "multipart" { fileinto "top-multipart"; }
if header :mime :anychild :contenttype "Content-Type" "text/html" { fileinto "html"; }
if header :mime :anychild :param "filename" :contains "Content-Disposition" "important" { fileinto "important"; }
if header :mime :anychild :param "charset" :is "Content-Type" "iso-8859-1" { fileinto "latin1"; }
if exists :mime :anychild "content-md5" { fileinto "md5"; }
if exists :mime "content-md5" { fileinto "top-md5"; }
