# message: nested.eml
require ["mime", "foreverypart", "extracttext", "variables", "fileinto"];
foreverypart {
  if header :mime :subtype "content-type" "plain" {
    extracttext :first 4 :upper "t";
    fileinto "first-${t}";
    break;
  }
}
foreverypart {
  if header :mime :subtype "content-type" "html" {
    extracttext "h";
    fileinto "html-${h}";
  }
}
