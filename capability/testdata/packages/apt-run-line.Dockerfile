FROM registry.example.com/team/base:1
RUN apt-get update && apt-get install -y git
