FROM quay.io/centos/centos:stream9
RUN yum install -y git
