module dk-bootstrap.local/peers/webapp

go 1.24
