"""riders"""
