# attack: floods its standard output and error
# layer: the file-size limit (limits.file_size_mb) caps its log: further writes fail; output never reaches the protocol
def softmax(x, dim=-1):
    line = "flood " * 10000
    while True:
        print(line)
