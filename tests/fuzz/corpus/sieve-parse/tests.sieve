if anyof (not exists "x", size :over 1K, address :domain :is "from" "example.com") { discard; } else { keep; }
