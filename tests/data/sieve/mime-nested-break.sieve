# message: nested.eml
require ["mime", "foreverypart", "variables", "fileinto"];
foreverypart :name "outer" {
  set "n" "${n}o";
  foreverypart {
    set "n" "${n}i";
    if header :mime :subtype "content-type" "html" { break :name "outer"; }
  }
}
foreverypart { set "m" "${m}o"; foreverypart { set "m" "${m}i"; break; } }
fileinto "${n}";
fileinto "${m}";
