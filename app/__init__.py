"""callguard: may I call this number now?"""
