# message: nested.eml
require ["mime", "foreverypart", "variables", "fileinto"];
foreverypart {
  if header :mime :contenttype :matches "content-type" "*" { set "all" "${all} ${1}"; }
}
fileinto "${all}";
