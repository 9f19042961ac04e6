FROM example.com/mystery:1
RUN apt-get install -y a && apk add b
