print("twill-dstool")
