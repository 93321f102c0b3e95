module dk-bootstrap.local/peers/pause

go 1.24
