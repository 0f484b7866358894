require ["mime", "foreverypart", "extracttext", "variables", "replace", "enclose", "fileinto"];
foreverypart :name "outer" {
  if header :mime :anychild :param "filename" :contains "Content-Disposition" "important" {
    extracttext :first 10 :lower "t";
    foreverypart { if exists :mime "content-md5" { break :name "outer"; } }
    replace :mime "Content-Type: text/plain\r\n\r\nremoved";
  }
}
if address :mime :is :all "content-from" "tim@example.com" { enclose :subject "x" :headers ["from"] "see"; }
