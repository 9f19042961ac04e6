FROM example.com/mystery:1
