require "relational";
if header :count "ge" "to" "1" { redirect "a@b.c"; }
/* comment */
keep; # end
