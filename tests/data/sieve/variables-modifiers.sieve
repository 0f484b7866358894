# message: plain.eml
require ["variables", "fileinto"];
set "a" "juMBlEd lETteRS";
set :upperfirst :lower "b" "${a}";
set :length "c" "${a}";
fileinto "${b}-${c}";
