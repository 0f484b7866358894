# message: list.eml
require ["variables", "fileinto"];
if header :matches "list-id" "*<*.lists.*>" { fileinto "lists.${2}"; }
