FROM fedora:41
